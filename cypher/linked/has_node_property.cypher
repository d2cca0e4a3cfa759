// Template. Whether some node of the label has the property (the scan stops at the first one).
RETURN EXISTS {
  MATCH (n:`__label__`)
  WHERE n.`__property__` IS NOT NULL AND (NOT $shared OR n.dataset IS NULL)
} AS found

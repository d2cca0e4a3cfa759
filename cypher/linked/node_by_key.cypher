// Template. The node of one mapped label whose key is one of $keys (the key asked for: a text, and
// its integer when it is all digits), with its handle (elementId) and its $title property (null:
// none). On a label kgrec's own nodes share ($shared), nodes with kgrec's `dataset` are kgrec's.
MATCH (n:`__label__`)
WHERE n.`__key__` IN $keys AND (NOT $shared OR n.dataset IS NULL)
RETURN n.`__key__` AS key, elementId(n) AS handle, n[$title] AS title
ORDER BY key
LIMIT 1

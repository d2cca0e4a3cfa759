// Template. Whether some relationship of the type has the property.
RETURN EXISTS { MATCH ()-[r:`__type__`]->() WHERE r.`__property__` IS NOT NULL } AS found

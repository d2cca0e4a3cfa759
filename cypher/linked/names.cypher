// The labels, relationship types and property keys the database knows, to check a mapping's names.
RETURN COLLECT { CALL db.labels() YIELD label RETURN label } AS labels,
       COLLECT { CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType } AS types,
       COLLECT { CALL db.propertyKeys() YIELD propertyKey RETURN propertyKey } AS properties

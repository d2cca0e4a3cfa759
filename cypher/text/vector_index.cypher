// The vector index of this name, if any, with its label, property and dimensions.
SHOW VECTOR INDEXES YIELD name, labelsOrTypes, properties, options, state
WHERE name = $name
RETURN name, labelsOrTypes[0] AS label, properties[0] AS property,
       options.indexConfig.`vector.dimensions` AS dimensions, state

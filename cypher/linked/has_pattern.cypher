// Template. Whether some relationship of the type goes from a node of one label to a node of another.
RETURN EXISTS { MATCH (:`__start_label__`)-[:`__type__`]->(:`__end_label__`) } AS found

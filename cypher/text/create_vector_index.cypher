// A cosine vector index on one label and property; the procedure takes every name as a parameter
// (CREATE VECTOR INDEX cannot), so the caller first checks that no index of this name exists.
CALL db.index.vector.createNodeIndex($name, $label, $property, $dimensions, 'cosine')

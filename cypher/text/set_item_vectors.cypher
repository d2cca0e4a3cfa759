// rows: [[item id, [float, ...], sha256 of the encoded text], ...]; stored as a float32 array.
// $source: the text property the vectors were encoded from (the CTR data checks it for leakage).
UNWIND $rows AS row
MATCH (n:Item {dataset: $dataset, id: row[0]})
CALL db.create.setNodeVectorProperty(n, $vector_property, row[1])
SET n[$sha_property] = row[2], n[$encoder_property] = $encoder, n[$source_property] = $source

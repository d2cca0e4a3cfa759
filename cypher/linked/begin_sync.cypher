// The first statement of a sync's one write transaction: the Dataset node (made on the first sync)
// is locked by the SET, so two syncs of one dataset run one after the other; the caller compares the
// version returned with the one its reads saw and gives up when another sync came between.
MERGE (d:Dataset {name: $dataset})
ON CREATE SET d.created = datetime(), d.version = 0, d.linked = true, d.source = $source
SET d.status = 'syncing'
RETURN d.version AS version, d.linked AS linked, d.source AS source, d.fingerprint AS fingerprint,
       d.mapping AS mapping

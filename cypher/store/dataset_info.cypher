MATCH (d:Dataset {name: $dataset})
RETURN d.name AS name, d.source AS source, d.status AS status, d.version AS version,
       d.relation_types AS relation_types, d.relation_uris AS relation_uris,
       d.has_kg AS has_kg, d.has_interests AS has_interests,
       toString(d.load_finished) AS load_finished, toString(d.created) AS created,
       coalesce(d.linked, false) AS linked, d.mapping AS mapping

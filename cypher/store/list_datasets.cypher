MATCH (d:Dataset)
RETURN d.name AS name, d.source AS source, d.status AS status, d.version AS version,
       d.has_kg AS has_kg, d.has_interests AS has_interests
ORDER BY name

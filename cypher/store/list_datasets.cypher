MATCH (d:Dataset)
RETURN d.name AS name, d.source AS source, d.status AS status, d.version AS version
ORDER BY name

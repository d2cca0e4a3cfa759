// Items of one dataset with the properties a file format may carry (absent ones are null).
MATCH (n:Item {dataset: $dataset})
RETURN n.id AS id,
       n {.org_id, .title, .uri, .freebase_id, .genres, .year, .release_date, .imdb_url} AS props
ORDER BY id

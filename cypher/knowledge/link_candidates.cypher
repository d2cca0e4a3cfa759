// Page titles to link against (all sources when $source is null), with the opening text for year hints.
MATCH (p:WikiPage)
WHERE $source IS NULL OR p.source = $source
RETURN p.title AS title, left(p.text, $opening_chars) AS opening

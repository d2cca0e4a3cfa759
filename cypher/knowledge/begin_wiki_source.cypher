// Marks a dump load as started; stays 'loading' until finish_wiki_source runs.
MERGE (s:WikiSource {name: $source})
SET s.status = 'loading', s.file = $file, s.max_chars = $max_chars, s.started_at = datetime()

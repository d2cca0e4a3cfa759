// Marks a dump load complete once every batch of pages is written.
MATCH (s:WikiSource {name: $source})
SET s.status = 'complete', s.pages = $pages, s.redirects = $redirects, s.other_namespaces = $other_namespaces,
    s.truncated = $truncated, s.finished_at = datetime()

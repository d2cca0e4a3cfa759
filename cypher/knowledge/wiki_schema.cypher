// Wikipedia pages (KELLMRec grounding): applied once per process, idempotently (IF NOT EXISTS).
// Pages are shared by every dataset: a title is a page, whichever dump it came from.
CREATE CONSTRAINT wiki_page_title IF NOT EXISTS FOR (p:WikiPage) REQUIRE p.title IS UNIQUE;
CREATE CONSTRAINT wiki_source_name IF NOT EXISTS FOR (s:WikiSource) REQUIRE s.name IS UNIQUE;
CREATE INDEX wiki_page_source IF NOT EXISTS FOR (p:WikiPage) ON (p.source);

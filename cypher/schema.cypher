// kgrec schema: applied idempotently on every connection that writes (IF NOT EXISTS).
// Nodes of several datasets live side by side; (dataset, id) identifies a node within its label.
CREATE CONSTRAINT dataset_name IF NOT EXISTS FOR (d:Dataset) REQUIRE d.name IS UNIQUE;
CREATE CONSTRAINT user_key IF NOT EXISTS FOR (n:User) REQUIRE (n.dataset, n.id) IS UNIQUE;
CREATE CONSTRAINT item_key IF NOT EXISTS FOR (n:Item) REQUIRE (n.dataset, n.id) IS UNIQUE;
CREATE CONSTRAINT entity_key IF NOT EXISTS FOR (n:Entity) REQUIRE (n.dataset, n.id) IS UNIQUE;
// Interests come in named sets side by side (the authors' clusters, LLM-derived ones...):
// (dataset, set, id) identifies one; the older (dataset, id) key is dropped.
DROP CONSTRAINT interest_key IF EXISTS;
CREATE CONSTRAINT interest_set_key IF NOT EXISTS FOR (n:Interest) REQUIRE (n.dataset, n.set, n.id) IS UNIQUE;
// Per-dataset scans (stats, export, drop) without touching other datasets.
CREATE INDEX user_dataset IF NOT EXISTS FOR (n:User) ON (n.dataset);
CREATE INDEX item_dataset IF NOT EXISTS FOR (n:Item) ON (n.dataset);
CREATE INDEX entity_dataset IF NOT EXISTS FOR (n:Entity) ON (n.dataset);
CREATE INDEX interest_dataset IF NOT EXISTS FOR (n:Interest) ON (n.dataset);
CREATE INDEX entity_uri IF NOT EXISTS FOR (n:Entity) ON (n.uri);
CREATE INDEX item_title IF NOT EXISTS FOR (n:Item) ON (n.title);
CREATE INDEX interacted_split IF NOT EXISTS FOR ()-[r:INTERACTED]-() ON (r.split);
CREATE CONSTRAINT training_run_id IF NOT EXISTS FOR (r:TrainingRun) REQUIRE r.run_id IS UNIQUE;
CREATE INDEX recommended_model IF NOT EXISTS FOR ()-[r:RECOMMENDED]-() ON (r.model);
// A linked dataset's id maps and splits (kg_store.linked.state), read per dataset.
CREATE INDEX kgrec_id_map_dataset IF NOT EXISTS FOR (n:KgrecIdMap) ON (n.dataset);
CREATE INDEX kgrec_splits_dataset IF NOT EXISTS FOR (n:KgrecSplits) ON (n.dataset);
// A linked dataset's LLM texts and interest prompts (kg_store.linked.texts, kg_store.linked.prompts):
// one node per item, user or (task, user), written by key and read per dataset.
CREATE CONSTRAINT kgrec_item_text_key IF NOT EXISTS FOR (n:KgrecItemText) REQUIRE (n.dataset, n.id) IS UNIQUE;
CREATE CONSTRAINT kgrec_user_text_key IF NOT EXISTS FOR (n:KgrecUserText) REQUIRE (n.dataset, n.id) IS UNIQUE;
CREATE CONSTRAINT kgrec_prompt_key IF NOT EXISTS FOR (n:KgrecPrompt) REQUIRE (n.dataset, n.task, n.user) IS UNIQUE;
CREATE INDEX kgrec_item_text_dataset IF NOT EXISTS FOR (n:KgrecItemText) ON (n.dataset);
CREATE INDEX kgrec_user_text_dataset IF NOT EXISTS FOR (n:KgrecUserText) ON (n.dataset);
CREATE INDEX kgrec_prompt_dataset IF NOT EXISTS FOR (n:KgrecPrompt) ON (n.dataset);
// Upgrade: interests loaded before sets existed are the authors' set (no-ops once done). Only kgrec's
// own nodes (those with a `dataset`): a graph kgrec is linked to may have Interest nodes of its own.
MATCH (n:Interest) WHERE n.set IS NULL AND n.dataset IS NOT NULL SET n.set = 'authors';
MATCH (:User)-[r:HAS_INTEREST]->(n:Interest) WHERE r.set IS NULL AND n.dataset IS NOT NULL
SET r.set = n.set, r.weight = coalesce(r.weight, 1.0);

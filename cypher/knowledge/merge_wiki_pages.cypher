// rows: [{title, text, chars}], text cut to the source's max_chars; chars is the full length.
UNWIND $rows AS row
MERGE (p:WikiPage {title: row.title})
SET p.text = row.text, p.chars = row.chars, p.source = $source

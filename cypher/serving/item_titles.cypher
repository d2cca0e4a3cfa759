// Every item of the dataset with its title: what a list read from memory names its items by.
MATCH (i:Item {dataset: $dataset})
RETURN i.id AS id, i.title AS title

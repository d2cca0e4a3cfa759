// rows: [{id, plot, directors, writers, cast}]: IMDb text on the dataset's items.
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row.id})
SET i.plot = row.plot, i.directors = row.directors, i.writers = row.writers, i.cast = row.cast

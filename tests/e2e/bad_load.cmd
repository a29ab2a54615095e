# Bad input names the file, line and field; nothing is imported.
load catalog ../bad/catalog_ok.csv
load catalog ../bad/catalog_bad_utf8.csv
load catalog ../bad/catalog_duplicate_id.csv
load catalog ../bad/catalog_wrong_columns.csv
load catalog ../bad/catalog_missing_title_col.csv
load sessions ../bad/sessions_unknown_item.csv
info
load catalog ../bad/catalog_wrong_columns.csv --skip-bad
info

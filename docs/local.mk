# docs/
dist_doc_DATA += README.md
EXTRA_DIST += $(wildcard $(srcdir)/docs/*.md)

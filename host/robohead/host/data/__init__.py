"""Sessions: the folder format, loading, validation, synthetic subjects, labels, collection."""

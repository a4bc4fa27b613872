"""`make bench` / `robohead bench`: every benchmark of the project in one run, one table.

`suite` holds one function per benchmark, each returning measured `Row`s plus its raw numbers;
`cli` runs them, prints the rich table, writes JSON under .bench/ and the README's Markdown.
"""

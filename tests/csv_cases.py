"""Bad CSV files and the message each must show, shared by the upload widget's tests."""

BAD_CSV_FILES = [
    (b"x1,x2,colour\n" + b"1,2,0\n" * 12, "no target column"),
    (b"x1,x2,label\n1,2,0\n", "too few rows"),
    (b"x1,x2,label\n" + b"1,2,0\n" * 5 + b"1,two,1\n" + b"2,1,1\n" * 6,
     "row 7, column &#x27;x2&#x27;: &#x27;two&#x27; is not a number"),  # as the HTML status shows it
    (b"x1,x2,label\n" + b"1,2,0\n" * 5 + b"1,nan,1\n" + b"2,1,1\n" * 6, "is not a finite number"),
    (b"x1,x2,label\n" + b"1,2,0\n2,3,0\n" * 6, "single class"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8 text"),
]

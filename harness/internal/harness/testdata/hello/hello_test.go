package hello

// A test file, which CopyPlugin must leave out.

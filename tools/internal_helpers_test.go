package tools

// only is the database of a one-database Tools, for the tests that call a
// tool body or the database's bounds directly.
func (t *Tools) only() *database { return t.state.Load().list[0] }

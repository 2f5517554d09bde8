package demo

// CheckReferences makes SeedLarge keep PostgreSQL's foreign-key checks on,
// so a test seed proves every reference the plan makes.
func CheckReferences() { trustReferences = false }

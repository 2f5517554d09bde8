package db

// CheckFree is free, for the package's external tests.
var CheckFree = free

// MaxCached is maxCached, for the package's external tests.
const MaxCached = maxCached

package db

// CheckFree is free, for the package's external tests.
var CheckFree = free

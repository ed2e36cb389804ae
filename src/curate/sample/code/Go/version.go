package version

const (
	Name    = "fetcher"
	Version = "0.9.1"
	Commit  = "unknown"
)

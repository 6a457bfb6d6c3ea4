// Package metrics owns the Prometheus registry of kashd and every Kash
// collector. Ops watch the engine through what this package exports, and
// the Grafana dashboard and the alert rules shipped beside it (grafana/,
// prometheus/) query exactly these names; tests keep the three in step.
//
// Other packages never touch the global Prometheus registry. kashd calls New
// once and hands each package the group it reports to (Metrics.HTTP to the
// gateway, Metrics.Journal to persistence, Metrics.Treasury to the treasury
// actor, ...). Every group method is safe for concurrent use and is a no-op
// on a nil group, so a package's own tests may pass nil.
//
// # Conventions
//
//   - Every name starts with kash_, uses base units (seconds, bytes) and ends
//     in _total when it is a counter.
//   - Amounts of money are in major units (dollars, francs) as float64, with
//     the ISO currency as the label currency, e.g.
//     kash_treasury_float_available{currency="USD"}. They are for watching,
//     not accounting: the ledger in Postgres is the record.
//   - No label ever carries a user, card, phone, payment or any other
//     per-entity id: label values come from small fixed vocabularies (route
//     patterns, provider names, statuses, reasons), so the number of series
//     stays bounded whatever the traffic.
//   - Values that their owners know as a snapshot (float, queue lengths,
//     counts by status) are gauges that the owner sets. Ages (oldest queued
//     item, pending payments by age) are computed at scrape time from the
//     timestamps the owner sets, so a stuck queue whose owner has gone quiet
//     still shows its age growing.
package metrics

Feature: Retention of raw samples and rollups
  Each tenant keeps its raw samples for its retention in days (changed with
  `pulse tenant update <slug> --retention-days D` or the admin API). The
  scheduler (or `pulse retention run`) deletes what is older: on MariaDB by
  dropping whole daily partitions past the longest retention of any tenant
  and deleting a shorter-lived tenant's rows in bounded chunks, on SQLite in
  chunks. Rollups are kept longer (by default 1m for 90 days and 5m for 400,
  never less than the tenant's raw retention), so long charts outlive the
  raw data. Cutoffs are whole UTC days.

  Background:
    Given tenants "short" and "long", each with a token scoped "ingest,read"
    And "short" posts samples of "ret.cpu" 20 days ago and 1 day ago
    And "long" posts samples of "ret.cpu" 20 days ago and 1 day ago

  Scenario: a shortened retention deletes the tenant's older samples and nothing else
    When the retention of "short" is changed to 10 days
    And retention runs
    Then "short" has raw samples of "ret.cpu" only from 1 day ago
    And "long" has raw samples of "ret.cpu" from 20 days ago and 1 day ago

  Scenario: rollups outlive the raw samples they summarise
    When the rollup job has run over every posted sample
    And the retention of "short" is changed to 10 days
    And retention runs
    Then "short" has raw samples of "ret.cpu" only from 1 day ago
    And "short" still has a "5m" bucket of "ret.cpu" from 20 days ago
    And "short" still has a "1m" bucket of "ret.cpu" from 20 days ago

  Scenario: running retention again deletes nothing more
    When the retention of "short" is changed to 10 days
    And retention runs
    And retention runs
    Then "short" has raw samples of "ret.cpu" only from 1 day ago
    And "long" has raw samples of "ret.cpu" from 20 days ago and 1 day ago

  Scenario: after the change, a sample older than the new retention is refused
    When the retention of "short" is changed to 10 days
    And "short" posts a sample of "ret.cpu" 20 days ago
    Then the answer is 422 with a JSON error
    And the errors list index 0 field "ts" with a message containing "older than the tenant's retention of 10 days"

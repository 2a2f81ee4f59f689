Feature: Rollups and the query API on them
  A scheduled job folds raw samples into 1-minute, 5-minute and hourly buckets
  (count, sum, min and max; a point's value is the average unless agg asks
  for another aggregate). Long ranges are answered from the buckets; samples
  the job has not folded yet are read from the raw data, so every bucket is
  answered exactly once whatever the job's progress. interval=auto picks the
  finest resolution whose points fit max_points; when even the hourly buckets
  are too many, it merges them into a round coarser step (2h, 6h, 1d, …).

  The anchor is a whole hour two hours before the scenario starts; "minute k"
  is k minutes after it. The background's samples are valued
  10 × their minute + their position in the minute (0 to 5).

  Background:
    Given a tenant with a token scoped "ingest,read"
    And I post 360 samples of "roll.cpu" every 10 seconds from minute 0

  Scenario: the job fills 1m and 5m buckets that the query reads
    When the rollup job has run over "roll.cpu"
    Then the "1m" query of "roll.cpu" has 60 points of count 6
    And the "1m" point of "roll.cpu" at minute 7 has count 6, min 70, max 75 and value 72.5
    And the "5m" query of "roll.cpu" has 12 points of count 30
    And the "5m" point of "roll.cpu" at minute 5 has count 30, min 50, max 95 and value 72.5

  Scenario: interval=auto picks the finest resolution whose points fit max_points
    When the rollup job has run over "roll.cpu"
    Then the query of "roll.cpu" with "interval=auto&max_points=1000" answers interval "raw" with 360 points
    And the query of "roll.cpu" with "interval=auto&max_points=100" answers interval "1m" with 60 points
    And the query of "roll.cpu" with "max_points=20" answers interval "5m" with 12 points
    And the query of "roll.cpu" with "max_points=5" answers interval "1h" with 1 points
    And the query of "roll.cpu" with "interval=raw&max_points=20" answers interval "raw" with 20 points

  Scenario: a late sample lands in a rolled-up minute and is counted once, before and after the job
    When the rollup job has run over "roll.cpu"
    And I post a sample of "roll.cpu" valued 1000 at minute 7 and 3 seconds
    Then within a second the "1m" point of "roll.cpu" at minute 7 has count 7, min 70, max 1000
    And the "1m" query of "roll.cpu" has 60 points
    When the rollup job has run over "roll.cpu"
    Then the "1m" point of "roll.cpu" at minute 7 has count 7, min 70, max 1000
    And the "5m" point of "roll.cpu" at minute 5 has count 31, min 50, max 1000

  Scenario: a range spanning rolled-up and fresh samples answers each minute exactly once
    When the rollup job has run over "roll.cpu"
    And I post 360 samples of "roll.cpu" every 10 seconds from minute 60
    Then within a second the "1m" query of "roll.cpu" has 120 points of count 6
    And the "5m" query of "roll.cpu" has 24 points of count 30

  Scenario: running the job again changes nothing
    When the rollup job has run over "roll.cpu"
    And I keep the "5m" answer for "roll.cpu"
    And the rollup job has run over "roll.cpu"
    Then the "5m" answer for "roll.cpu" is unchanged

  Scenario Outline: each point carries the aggregate agg asks for
    When the rollup job has run over "roll.cpu"
    Then the "5m" point of "roll.cpu" at minute 5 with agg "<agg>" has value <value>

    Examples:
      | agg   | value |
      | avg   | 72.5  |
      | min   | 50    |
      | max   | 95    |
      | sum   | 2175  |
      | count | 30    |

  Scenario Outline: a bad interval or aggregate is refused with 422 naming the choices
    When I query "roll.cpu" with "<params>"
    Then the answer is 422 with a JSON error mentioning "<hint>"

    Examples:
      | params          | hint           |
      | interval=7m     | auto, raw, 1m, 5m |
      | interval=RAW    | auto, raw, 1m, 5m |
      | interval=1m%00  | auto, raw, 1m, 5m |
      | agg=median      | avg, min, max, sum, count |

  Scenario: another tenant never sees the rollups
    Given tenants "a" and "b", each with a token scoped "ingest,read"
    When the rollup job has run over "roll.cpu"
    Then "b" sees no "5m" buckets of "roll.cpu"

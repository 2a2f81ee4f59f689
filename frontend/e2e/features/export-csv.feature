Feature: Export CSV
  "Export CSV" on a chart exports exactly what it shows: its range, its interval, its aggregation.

  Scenario: Export the visible range as CSV
    Given a tenant with a token and a user
    When 12 samples of each of the hosts "alpha" and "beta" are posted, one every 20 seconds
    And the user logs in and opens Explore on the metric, which shows 24 points
    And the user clicks "Export CSV" on the chart
    Then the export shows its progress, then "Download CSV (N rows)"
    And the downloaded file has the header "timestamp,unix_ms,name,host,value" and N rows
    And N is the number of points in the chart's data table, the same points

Feature: pulse demo
  A newcomer runs `pulse demo` and sees real-looking charts at once: a demo
  tenant, its admin, a "Hosts overview" dashboard and a week of generated data.

  Scenario: The demo dashboard shows a week of data, and a second run changes nothing
    Given pulse demo has run on the server's data dir
    When pulse demo runs again
    Then it says that nothing changed
    When the demo user opens the "Hosts overview" dashboard over 7d
    Then every widget's chart shows data

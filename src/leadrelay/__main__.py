from leadrelay.cli.app import main

main()

from tensorshape_cli.cli import main

main()

from tensorshape_cli.entry import main

main()

from vinculo.cli import main

main()

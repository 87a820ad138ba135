from campaignlab.cli import main

main()

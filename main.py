from destination_hubspot_lago.run import run

if __name__ == "__main__":
    run()

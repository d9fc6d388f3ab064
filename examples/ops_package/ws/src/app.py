def main():
    # TODO: parse arguments
    print("hi")

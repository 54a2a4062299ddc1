"""The guestbook's own library: how an entry is worded."""


def greet(name):
    return f"{name} was here"

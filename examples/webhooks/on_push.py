import json


def on_push(request):
    """Summarize a GitHub push: the branch, and the commits per author."""
    event = request["headers"].get("x-github-event", "")
    if event == "ping":
        return {"pong": True}
    if event != "push":
        return {"ignored": event}
    push = json.loads(request["body"])
    return summarize(push)


def summarize(push):
    authors = {}
    for commit in push["commits"]:
        login = author_of(commit)
        authors[login] = authors.get(login, 0) + 1
    return {
        "branch": push["ref"].removeprefix("refs/heads/"),
        "commits": len(push["commits"]),
        "authors": authors,
    }


def author_of(commit):
    return commit["author"]["username"]

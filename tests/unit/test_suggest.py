"""Unknown-name messages: the name, a close suggestion if any, and every known name."""

from loralens.suggest import unknown_name_message


def test_close_name_is_suggested() -> None:
    msg = unknown_name_message("task", "roten_tomatoes", ["sst2", "rotten_tomatoes"])
    assert msg == (
        "unknown task 'roten_tomatoes'; did you mean 'rotten_tomatoes'? "
        "Known: rotten_tomatoes, sst2"
    )


def test_without_a_close_name_the_sentence_still_ends_before_the_list() -> None:
    msg = unknown_name_message("engine", "nope", ["merged", "fused"])
    assert msg == "unknown engine 'nope'. Known: fused, merged"

from actions.fallback import ranked_topic_keys
from bot.knowledge.topics import closest_topics, load_topics


def test_every_topic_has_a_title_and_payload():
    for topic in load_topics().values():
        assert topic.title and topic.payload


def test_closest_topics_follow_the_nlu_ranking_and_skip_unknown_ones():
    topics = closest_topics(["greet", "faq/partners", "ask_dates", "ask_contact"], limit=3)
    assert [t.key for t in topics] == ["faq/partners", "ask_dates", "ask_contact"]


def test_closest_topics_are_padded_with_the_menu():
    assert [t.key for t in closest_topics([], limit=2)] == ["help", "ask_contact"]


def test_ranking_uses_the_response_selector_for_faq():
    parse_data = {
        "intent_ranking": [{"name": "nlu_fallback"}, {"name": "faq"}, {"name": "ask_dates"}],
        "response_selector": {
            "faq": {
                "ranking": [
                    {"intent_response_key": "faq/partners"},
                    {"intent_response_key": "faq/who_can_apply"},
                    {"intent_response_key": "faq/more_info"},
                ]
            }
        },
    }
    assert ranked_topic_keys(parse_data) == ["faq/partners", "faq/who_can_apply", "ask_dates"]

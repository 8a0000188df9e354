"""The score lab's endpoints through gradio_client: data, the field at t, live training (streamed), sampling
and the scrubber, and bad input that gets a message while the lab keeps working."""
import time

import pytest
from gradio_client import Client

VIEW = ("cosine", 1000)  # schedule, T


@pytest.fixture(scope="module")
def client(app_url, tmp_path_factory):
    c = Client(app_url, verbose=False, download_files=str(tmp_path_factory.mktemp("dl")))
    canvas, md = c.predict("two moons", 0, api_name="/score_data")
    assert "two moons" in md and "2,000 points" in md
    return c


def test_the_field_at_t_answers_fast_and_names_t(client):
    fig, md = client.predict(*VIEW, 500, "all (unconditional)", 1, api_name="/score_field")
    assert "t = 500" in md and "exact score" in md and "Train the network" in md
    start = time.perf_counter()
    for t in (100, 300, 700, 900):
        client.predict(*VIEW, t, "all (unconditional)", 1, api_name="/score_field")
    assert (time.perf_counter() - start) / 4 < 2.0  # the benchmark holds the real target (150 ms)


def test_training_streams_then_the_field_shows_the_learned_score_and_sampling_works(client):
    job = client.submit(*VIEW, 1e-2, 3, 500, "all (unconditional)", 1, api_name="/score_train")
    frames = list(job)
    assert len(frames) >= 3  # streamed
    progress = job.outputs()[-1][-1]
    assert "step" in progress and "loss" in progress
    _, md = client.predict(*VIEW, 500, "all (unconditional)", 1, api_name="/score_field")
    assert "error where the data lives" in md
    for sampler, eta, words in (("ddim", 0, "probability-flow ODE"), ("ddpm", 0, "reverse SDE"), ("ddim", 0.5, "between ODE and SDE")):
        fig, md, scrub = client.predict(*VIEW, sampler, 20, eta, 500, 0, "all (unconditional)", 1, False, api_name="/score_sample")
        assert words in md and "Sliced Wasserstein" in md and "ratio" in md
    client.predict(5, api_name="/score_scrub")


def test_the_exact_score_samples_without_training(app_url):
    c = Client(app_url, verbose=False)
    c.predict("ring of 8 Gaussians", 1, api_name="/score_data")
    with pytest.raises(Exception, match="Train the network"):
        c.predict(*VIEW, "ddim", 20, 0, 300, 0, "all (unconditional)", 1, False, api_name="/score_sample")
    _, md, _ = c.predict(*VIEW, "ddim", 20, 0, 300, 0, "class 2", 1, True, api_name="/score_sample")
    assert "exact score" in md


def test_bad_input_gets_a_message_and_the_lab_keeps_working(app_url):
    c = Client(app_url, verbose=False)
    with pytest.raises(Exception, match="no data yet"):
        c.predict(*VIEW, 500, "all (unconditional)", 1, api_name="/score_field")
    with pytest.raises(Exception, match="Unknown data set|not one of|choices"):
        c.predict("<b>evil</b>", 0, api_name="/score_data")
    c.predict("spiral", 0, api_name="/score_data")
    _, md = c.predict(*VIEW, 500, "class 1", 4, api_name="/score_field")
    assert "class 1" in md

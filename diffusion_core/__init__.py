"""Diffusion Classroom's library: diffusion with a Transformer denoiser, small enough to read.

What you can run sits at the top (`python -m diffusion_core.<command> --help`):
    train        train the DiT, the judge classifier, the GAN, the VAE or the text models (training/)
    sample       write generated digits to an .npz (pipelines/generation)
    evaluate     judge an .npz of digits: accuracy, Frechet distance, precision / recall (evaluation/quality)
    compare      the measured three-way comparison DiT vs GAN vs VAE (evaluation/comparison)
    model_cards  write the model cards from the weights' JSON and the measured report
    text_model_cards  the text models' cards, from their JSON and assets/text_figures.json
    record_runs  record the race and the score-lab training that lessons 9 and 8 replay at once
    serve_denoiser  deploy, inspect or remove the denoiser on a Ray cluster (`python app.py --backend ray` uses it)
and the modules every part reads:
    paths        every place on disk: assets, data, outputs, the scratch folder
    references   every cited work, with what the app takes from each; `cited()` writes `[@<key> <place>]` out
    settings     the DiT's sampling settings: one object (`Sampling`), one table of limits (`LIMITS`)

What it is made of, one subject per folder; a module imports only from its own layer or below
(tests/test_layout.py checks it):

 layer 1  maths/       the diffusion maths, in float64 numpy or torch, no networks
              schedules        NoiseSchedule (immutable; t = 0 .. T-1, CLEAN = -1), make_schedule, from_betas
              schedule_makers  the named beta schedules, Karras sigmas, zero-terminal-SNR rescaling
              schedule_io      schedules from user text: diffusers config, pasted betas, CSV (parsed, never evaluated)
              schedule_checks  findings with severity and fix; fix_schedule
              forward          the forward process, written once: noised, q_sample, q_step, q_posterior, eps/x0/v
              objective        the training loss (eps-MSE, optional Min-SNR weights) the trainer and the curves call
              samplers         DDPM, DDIM, DPM-Solver++(2M), Euler, Heun: one signature over a StepGrid
              guidance         CFGDenoiser: classifier-free guidance in one batched call, in an interval min_t <= t <= max_t
              score            the exact score of a noised point set (a Gaussian mixture); ExactDenoiser
              masking          masked (absorbing-state) diffusion for text: MaskingSchedule, MDLM's objective
          data/        images and data sets
              mnist            MNIST from IDX files wherever a user has it (or a mirror, MD5-checked)
              images           grids, upscaling, captions, colour maps, digit tiles
              images_io        the forward lab's images: bundled digits and photos, checked uploads
              points2d         2D data for the score lab: presets, drawn points, CSV (checked)
              names_corpus     the text corpus (US surnames from the `names` package), encode / decode
          networks/    the networks and their loading
              dit              the DiT denoiser (patchify, adaLN-Zero, class embedding with a null class)
              gan, vae         the two rivals
              mlp2d            the score lab's small MLP denoiser (the DiT's interface)
              rivals2d         the race's small MLP GAN and VAE
              text_dit         the text model from the DiT's blocks, and its autoregressive twin (causal)
              classifier       the MNIST judge (accuracy and the feature space of the Frechet distance)
              pretrained       save / load shipped weights: assets/, or a Hugging Face Hub repo
              precision        the DiT at float32, bfloat16 and int8 (dynamic quantization; a sentence where torch.ao is gone)
              pruning          structured magnitude pruning of the MLPs' hidden units: a pruned model is a smaller DiT
              dit_flops        a forward pass's operations counted by part: attention projections, scores (N^2), MLP
              runtime          where models run: CUDA with bf16, ZeroGPU, the CPU
              loaded           the one owner of loaded networks (each loaded once per process and device)
              threads          tiny networks (2D MLPs, the text model) on one intra-op thread
 layer 2  settings (above)
 layer 3  pipelines/   model + schedule + sampler -> images
              generation       class-conditional generation from any shipped model
              denoising        the reverse process recorded step by step (a Trajectory), for the app
              step_batcher     cross-user batching: running generations share one network call per round
              step_stream      one generation as a stream: RunStart, then a StepFrame per step (what a backend sends)
              backends         what runs the app's generations: LocalBackend (default, no ray) or Ray Serve; `active()`
              serve_config     the backend setting and the Ray Serve deployment's settings, with their defaults
              ray_deployment   the Serve deployment: replicas that each run the step batcher, steps streamed
              ray_backend      the front end's client: one streamed call per generation, faults turned into messages
              variant_sampling digits from a variant of the DiT (a precision, a pruned copy) from the same x_T
              interpolation    latent interpolation (slerp; DDIM between two x_T for the DiT)
              sdedit           noise a real digit to t* and denoise it back; eps-MSE by timestep
              particles        2D particles moved by the same samplers; learned vs exact score by t
              text_generation  the text reverse process (unmasking rules, infill) and the autoregressive twin
          training/    the trainers
              train_dit, train_classifier, train_gan, train_vae
              train_2d         live training of the 2D denoiser (the DiT's objective), in slices
              race_2d          diffusion, GAN and VAE trained together on 2D data, measured as they go
              train_text       the masked-diffusion text model and its autoregressive twin
              training_utils   device, seeding, EMA, resumable checkpoints (in parts), the loss log
              recovery_tune    a pruned model's short recovery fine-tune with the trainer's own step
 layer 4  evaluation/  measuring models
              metrics          Frechet distance, precision / recall, diversity on feature vectors
              quality          generated digits judged by the classifier
              comparison       the three-way report (assets/comparison.json) and read_report
              measured_figures the recorded figures (assets/dit_figures.json, race, text): one reader, one (atomic) writer
              distance2d       sliced Wasserstein distance of 2D clouds, and its data-vs-data floor
              coverage2d       mode coverage of 2D samples (modes hit, share near a mode)
              race_measures    the race measured as it trains: distance, coverage, stability
              text_quality     the text models' bits per character, novelty, n-gram plausibility
              cost_report      the cost lab's figures (assets/cost_figures.json): schema, checked reader, remedies
              cost_timing      a guided step's time; one forward's time by part as the tokens grow
              train_memory     a training step's peak memory by batch size, with and without checkpointing (fresh process)
          classroom/   a class in one room (no gradio): the teacher's view pushed to followers, live polls, presence
              room_db          the database: one SQLite file (WAL), its schema version and migrations
              rooms            Classroom: rooms, members, polls, answers; keys checked, sizes bounded, idle rooms deleted
              room_codes       room codes (unguessable in a room's life) and the teacher's and students' secrets
              polls            a poll (choices or a number), answers read as plain text, the class's histogram
              room_limits      how often a client, a member or a room may act; the bounds of a public Space
              room_signals     who waits for a room's next change (the long poll), and who is present
 layer 5  app/         the Gradio app (the only part that imports gradio); one folder per tab,
                       layout (`*_tab`) beside its handlers (`*_ui`); no tab imports another
              forward/         forward_tab, forward_ui, forward_lab, forward_plots, custom_specs (pasted schedules, links)
              reverse/         reverse_tab, reverse_ui, reverse_views, attention_view
              compare/         compare_tab, compare_ui
              learn/           learn_tab, lessons (keyword data), lesson_reveals, sampling_reveals (figures read from assets/*.json),
                               cost_reveal (lesson 11's answer and reveal, from assets/cost_figures.json)
              score/           score_tab, score_ui, score_plots, score_replay (the score lab: diffusion in 2D)
              race/            race_tab, race_ui, race_plots, race_frames, race_replay (diffusion vs GAN vs VAE in 2D)
              text/            text_tab, text_ui (masked diffusion on names, and its autoregressive twin)
              cost/            cost_tab, cost_ui, cost_plots (why diffusion is slow and what makes it fast, measured)
              classroom/       classroom_tab, classroom_ui, classroom_views (the Class panel: teacher and students),
                               lesson_polls (the lessons' questions as polls), room_events (the long poll, beside
                               the queue), room_page (the page's JavaScript: the room remembered, the wait)
              common           messages instead of tracebacks, private-event options, the CSS
              view_state       a tab's view as a dict and its share-link query
              traffic          the public Space's limits; trajectory_store, frame_files: bounded runs, fast frames;
                               recordings: the recorded replays' files (assets/recorded/)
              tutor, tutor_tools   the tutor tools served over MCP
              wording          plurals and articles
              plane_figures    fast plotly figures of the 2D plane (the score lab's and the race's streamed views)
 layer 6  the commands at the top (train, sample, evaluate, compare, model_cards, text_model_cards, record_runs,
          serve_denoiser)
"""

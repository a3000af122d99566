"""Synthetic home-workout pose sequences, generated on the fly from a seed.

A kinematic 3D body (forward kinematics from joint angles, anthropometric limb lengths)
performs one of :data:`WORKOUT_CLASSES`; a randomly placed camera projects it to
MediaPipe-style image-normalised keypoints (``mediapipe33`` layout) with realistic
noise, low visibility on the side turned away, dropped joints and person-less frames.

The classes: ``squat`` (hips sink and go back, knees bend, trunk leans; regular, sumo
or jump squats, arms forward, clasped, on the hips, at the shoulders or overhead),
``push_up`` (plank pivoting on the toes or knees, hands planted on the floor or a bench,
elbows bend and flare), ``jumping_jack`` (arms to overhead and legs apart with a small
hop), ``lunge`` (a step forward or back, both knees bend, same or alternating legs),
``arm_circles`` (arms out to the side tracing circles, forward or backward), ``sit_up``
(lying on the back, knees bent, the trunk curls up to sitting or a crunch), ``pull_up``
(hanging from a bar, the body rises until the chin is at the bar; the legs swing, some
kip), ``jump_rope`` (small fast hops, wrists circling at hip height), ``plank`` (held on
the forearms or hands),
``standing`` (sway, breathing, now and then a weight shift, arm or head movement) and
``other`` (everyday motion that is none of these: walking, waving, reaching, bending
down, stretching, sitting down, gesturing, ...). Tempo, range of motion and body
proportions are fitted to the Penn Action train split and MediaPipe tracks of real
home-workout clips (see the comments in ``motions.py`` and ``body.py``).

World coordinates are metres with x = the person's left, y = up, z = the person's
forward (a right-handed frame); the floor is y = 0.

Files:

- ``body.py``: segment lengths, joint angles (``Body``, ``Pose``), forward kinematics.
- ``timing.py``: repetition phase, per-rep amplitude, smooth random signals, idle sway.
- ``motions.py``: each class's joint-angle curves and their 3D joints on the floor.
- ``camera.py``: random camera placement and pinhole projection with visibility.
- ``noise.py``: estimator noise (jitter, drift, visibility noise, lost joints/frames).
- ``dataset.py``: the public API (classes, ``WorkoutSample``, the generators).
"""

from motionseq.data.workouts.dataset import (
    WORKOUT_CLASSES,
    WorkoutSample,
    generate_workouts,
    make_workout,
    simulate_workout_3d,
)

__all__ = ["WORKOUT_CLASSES", "WorkoutSample", "generate_workouts", "make_workout",
           "simulate_workout_3d"]

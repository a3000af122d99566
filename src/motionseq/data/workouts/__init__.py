"""Synthetic home-workout pose sequences, generated on the fly from a seed.

A kinematic 3D body (forward kinematics from joint angles, anthropometric limb lengths)
performs one of :data:`WORKOUT_CLASSES`; a randomly placed camera projects it to
MediaPipe-style image-normalised keypoints (``mediapipe33`` layout) with realistic
noise, low visibility on the side turned away, dropped joints and person-less frames.

The classes: ``squat`` (hips sink and go back, knees bend, trunk leans, arms forward
or held), ``push_up`` (plank pivoting on the toes, hands planted, elbows bend and
flare), ``jumping_jack`` (arms to overhead and legs apart with a small hop),
``lunge`` (a step forward or back, both knees bend, same or alternating legs),
``arm_circles`` (arms out to the side tracing circles, forward or backward) and
``standing`` (sway, breathing, now and then a weight shift, arm or head movement).

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

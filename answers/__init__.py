"""Official answers: questions from the public, answers of the competent authorities,
measures in force and the consolidated contacts directory (issue 8)."""

"""Views: the terminal summary, the molecule page, the dataset report and its plots.

Every HTML page is one offline file built by `html` from the templates in viz/.

May import: base, molecule, measure.
"""
